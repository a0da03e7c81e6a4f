"use strict";
// The sign-in sheet: its print button (inline handlers are not allowed by the page's policy).
document.querySelector("button.print").addEventListener("click", () => window.print());
