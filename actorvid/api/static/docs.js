"use strict";
// The API explorer on our own description. A separate file (not inline) so the page's CSP can
// allow scripts from this origin only.
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  // Swagger UI would otherwise send the description to validator.swagger.io for a badge.
  validatorUrl: null,
  // The session cookie comes along with "Try it out" (same origin), like the frontend's.
  withCredentials: true,
  displayRequestDuration: true,
});
