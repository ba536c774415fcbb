// The local explorer: GraphiQL over the gateway at this page's origin, served from the gateway's own
// files (no CDN, so it works offline). A plain script with no build step: React, ReactDOM and
// GraphiQL are the globals their browser builds define.
'use strict';

(() => {
  const DEFAULT_QUERY = `# The Partnerskap gateway. Ctrl-Enter runs the operation; the book icon opens the schema.
#
# Without a token you ask as the public. A partner adds its token under Headers below:
#   { "Authorization": "Bearer <token>" }
# (a development token: npm run token -- --role school-owner --org 4601)

{
  subjects {
    code
    name
  }
}
`;
  // A JSON POST to the gateway's own path: what Apollo's CSRF prevention lets through.
  const fetcher = GraphiQL.createFetcher({ url: new URL('/', window.location.href).href });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultQuery: DEFAULT_QUERY,
      defaultEditorToolsVisibility: 'headers',
      isHeadersEditorEnabled: true,
      // A token typed into Headers stays in this tab: it is never written to localStorage.
      shouldPersistHeaders: false,
    }),
  );
})();
