// The live inbox: the alert stream says which alert changed, and the server renders its row again with this
// page's filters (so encoding and scope stay on the server). A 204 means the alert left this list.
(() => {
    "use strict";
    const table = document.getElementById("inbox");
    const rows = document.getElementById("inbox-rows");
    const empty = document.getElementById("inbox-empty");
    const state = document.getElementById("live-state");
    const filter = table.dataset.filter;

    function refreshEmpty() { empty.hidden = rows.children.length > 0; }

    async function refreshRow(id, fresh) {
        const r = await fetch(`/alerts?handler=Row&id=${id}${filter ? "&" + filter : ""}`, { credentials: "same-origin" });
        const existing = document.getElementById("alert-" + id);
        if (r.status === 204 || !r.ok) {
            existing?.remove();
            refreshEmpty();
            return;
        }
        const template = document.createElement("template");
        // The row is HTML the server rendered and encoded; nothing from the event itself goes into markup.
        template.innerHTML = (await r.text()).trim();
        const row = template.content.firstElementChild;
        if (fresh) row.classList.add("fresh");
        if (existing) existing.replaceWith(row);
        else {
            const after = [...rows.children].find(tr => Number(tr.dataset.alertId) < id);
            rows.insertBefore(row, after ?? null);
        }
        refreshEmpty();
        window.closeloop.tick();
    }

    const source = new EventSource("/api/v1/alerts/stream");
    const onEvent = e => {
        const data = JSON.parse(e.data);
        refreshRow(Number(data.alertId), e.type === "alert.created");
    };
    for (const type of ["alert.created", "alert.updated", "alert.escalated", "alert.warned", "alert.breached", "alert.match_absorbed", "message"]) {
        source.addEventListener(type, onEvent);
    }
    source.addEventListener("open", () => { state.classList.add("ok"); state.title = "Live"; document.body.dataset.inboxLive = "true"; });
    source.addEventListener("error", () => { state.classList.remove("ok"); state.title = "Reconnecting…"; });

    // One-click acknowledge without leaving the page.
    rows.addEventListener("submit", async e => {
        const form = e.target.closest("form.ack-form");
        if (!form) return;
        e.preventDefault();
        form.querySelector("button").disabled = true;
        const id = Number(form.closest("tr").dataset.alertId);
        await window.closeloop.post(form.action, new FormData(form));
        await refreshRow(id, false);
    });
})();
