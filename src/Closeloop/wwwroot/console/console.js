// Closeloop console: the script every signed-in page loads. Data always goes into the page with textContent,
// never innerHTML, because much of it was written by customers.
(() => {
    "use strict";
    const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

    // fetch() for the console's own writes: the cookie goes along by itself, the anti-forgery token does not.
    async function post(url, body) {
        const headers = { "X-CSRF-TOKEN": csrf, "X-Requested-With": "fetch" };
        let payload = body;
        if (body !== undefined && !(body instanceof FormData)) {
            headers["Content-Type"] = "application/json";
            payload = JSON.stringify(body);
        }
        return fetch(url, { method: "POST", headers, body: payload, credentials: "same-origin" });
    }

    function element(tag, className, text) {
        const e = document.createElement(tag);
        if (className) e.className = className;
        if (text !== undefined && text !== null) e.textContent = text;
        return e;
    }

    // Countdowns to alert deadlines: green while there is time, amber as the deadline nears, red once it passed.
    function two(n) { return String(n).padStart(2, "0"); }
    function span(ms) {
        const s = Math.floor(Math.abs(ms) / 1000);
        const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
        if (d > 0) return `${d}d ${h}h`;
        if (h > 0) return `${h}h ${two(m)}m`;
        return `${m}m ${two(sec)}s`;
    }
    function tick() {
        const now = Date.now();
        for (const el of document.querySelectorAll(".countdown[data-due]")) {
            const due = Number(el.dataset.due), created = Number(el.dataset.created || due);
            let text, cls;
            if (el.dataset.active === "false") { text = "done"; cls = "done"; }
            // The deadline is the time to reach the customer: once reached, it was met and no longer counts down.
            else if (el.dataset.met === "true") { text = "met"; cls = "done"; }
            else if (el.dataset.paused === "true") { text = "paused"; cls = "paused"; }
            else {
                const left = due - now, total = Math.max(due - created, 1);
                if (left <= 0) { text = "overdue " + span(left); cls = "due"; }
                else {
                    text = span(left);
                    cls = left < total * 0.25 || (left < 15 * 60_000 && total > 30 * 60_000) ? "near" : "calm";
                }
            }
            el.textContent = text;
            el.className = "countdown " + cls;
            el.title = new Date(due).toLocaleString();
        }
    }
    tick();
    setInterval(tick, 1000);

    // The broadcast bar: live messages for this person, each until it expires, is withdrawn, or is marked read.
    const bar = document.getElementById("broadcast-bar");
    const shown = new Map();
    function layoutBar() {
        const items = [...bar.children].sort((a, b) => (b.dataset.priority === "urgent") - (a.dataset.priority === "urgent") || Number(b.dataset.broadcastId) - Number(a.dataset.broadcastId));
        items.forEach(i => bar.appendChild(i));
        bar.hidden = items.length === 0;
    }
    function removeBroadcast(id) {
        const item = shown.get(id);
        if (item) { clearTimeout(item.timer); item.el.remove(); shown.delete(id); layoutBar(); }
    }
    function showBroadcast(b) {
        if (b.read || b.withdrawnAt || shown.has(b.id)) return;
        const left = new Date(b.expiresAt).getTime() - Date.now();
        if (left <= 0) return;
        const el = element("div", "broadcast" + (b.priority === "urgent" ? " urgent" : ""));
        el.dataset.broadcastId = b.id;
        el.dataset.priority = b.priority;
        el.setAttribute("role", b.priority === "urgent" ? "alert" : "status");
        if (b.priority === "urgent") el.appendChild(element("strong", null, "Urgent"));
        const marquee = element("div", "marquee");
        marquee.appendChild(element("span", "message", b.message));
        el.appendChild(marquee);
        el.appendChild(element("span", "from", "— " + b.senderName));
        const ok = element("button", null, "Got it");
        ok.type = "button";
        ok.dataset.testid = "broadcast-read";
        ok.addEventListener("click", async () => {
            ok.disabled = true;
            const r = await post(`/api/v1/broadcasts/${b.id}/read`);
            if (r.ok || r.status === 404) removeBroadcast(b.id); else ok.disabled = false;
        });
        el.appendChild(ok);
        bar.appendChild(el);
        shown.set(b.id, { el, timer: setTimeout(() => removeBroadcast(b.id), Math.min(left, 2_147_000_000)) });
        layoutBar();
    }
    if (bar) {
        const source = new EventSource("/api/v1/broadcasts/stream");
        source.addEventListener("broadcast.posted", e => showBroadcast(JSON.parse(e.data)));
        source.addEventListener("broadcast.withdrawn", e => removeBroadcast(JSON.parse(e.data).id));
        source.addEventListener("broadcast.read", e => document.dispatchEvent(new CustomEvent("closeloop:broadcast-read", { detail: JSON.parse(e.data) })));
        source.addEventListener("open", () => document.body.dataset.broadcastsLive = "true");
    }

    window.closeloop = { post, element, tick };
})();
