// Dashboards: draws the figures the server embedded as JSON; a click on a point or bar opens the records behind it.
(() => {
    const source = document.getElementById('dashboard-data');
    const form = document.getElementById('dashboard-filters');
    if (form) {
        // Editing a date means a custom period; picking a period or dimension shows it at once.
        form.querySelectorAll('input[type=date]').forEach(i => i.addEventListener('change', () => { form.period.value = 'custom'; }));
        form.period.addEventListener('change', () => { if (form.period.value !== 'custom') form.submit(); });
        form.by.addEventListener('change', () => form.submit());
    }
    if (!source || typeof Chart === 'undefined') return;
    const data = JSON.parse(source.textContent);
    const metrics = { csat: [0, 100], nps: [-100, 100], ces: [0, 100], fcr: [0, 100], closed_loop: [0, 100], sla: [0, 100], recovery: [0, 100] };
    const drill = extra => {
        const q = new URLSearchParams(data.query);
        for (const [k, v] of Object.entries(extra)) q.set(k, v);
        return '/dashboards/records?' + q;
    };
    const options = (metric, rows, param, horizontal) => ({
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        indexAxis: horizontal ? 'y' : 'x',
        scales: { [horizontal ? 'x' : 'y']: { min: metrics[metric][0], max: metrics[metric][1] } },
        plugins: {
            legend: { display: false },
            tooltip: { callbacks: { label: c => `${c.formattedValue} (n = ${rows[c.dataIndex][metric].n})` } },
        },
        onHover: (e, els) => { e.native.target.style.cursor = els.length && data.drill ? 'pointer' : 'default'; },
        onClick: (e, els) => {
            if (!els.length || !data.drill) return;
            const row = rows[els[0].index];
            location.href = drill({ metric, [param]: row.key ?? data.none });
        },
    });
    // A chart with nothing to draw says so instead of showing empty axes.
    const nothing = canvas => { canvas.parentElement.outerHTML = '<p class="muted">None in this period.</p>'; };
    for (const metric of Object.keys(metrics)) {
        const days = data.days;
        const line = document.getElementById('day-' + metric);
        if (line && !days.some(d => d[metric].n > 0)) nothing(line);
        else if (line) new Chart(line, {
            type: 'line',
            data: {
                labels: days.map(d => d.key.slice(5)),
                datasets: [{ data: days.map(d => d[metric].value), borderColor: '#1f5fbf', backgroundColor: '#1f5fbf', spanGaps: true, pointRadius: 3, pointHoverRadius: 6 }],
            },
            options: options(metric, days, 'day', false),
        });
        // The busiest groups first, so an agent dimension stays readable; the table below lists them all.
        const bars = document.getElementById('by-' + metric);
        if (!bars) continue;
        const groups = data.groups.filter(g => g[metric] && g[metric].n > 0).sort((a, b) => b[metric].n - a[metric].n).slice(0, 20);
        if (!groups.length) { nothing(bars); continue; }
        new Chart(bars, {
            type: 'bar',
            data: {
                labels: groups.map(g => `${g.key ?? data.none} (n=${g[metric].n})`),
                datasets: [{ data: groups.map(g => g[metric].value), backgroundColor: '#7fb0ff' }],
            },
            options: options(metric, groups, data.by, true),
        });
    }
})();
