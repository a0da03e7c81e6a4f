// Relative URLs, so the reference also works behind a reverse proxy under a sub-path.
window.ui = SwaggerUIBundle({
  url: new URL("api/openapi.json", document.baseURI.replace(/docs\/?$/, "")).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  // A token typed here is forgotten with the page, never kept in the browser's storage.
  persistAuthorization: false,
});
