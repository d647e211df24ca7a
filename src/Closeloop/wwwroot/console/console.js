// Closeloop console: the little script every signed-in page loads. Data is always put in the page with
// textContent, never innerHTML, because much of it was written by customers.
(() => {
    "use strict";
    window.closeloop = window.closeloop || {};
})();
