// Relative URLs, so the reference also works behind a reverse proxy under a sub-path.
window.ui = SwaggerUIBundle({
  url: new URL("api/openapi.json", document.baseURI.replace(/docs\/?$/, "")).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
});
