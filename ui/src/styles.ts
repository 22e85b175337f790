// The widget's CSS, inside its shadow root. `:host` resets everything the host page could pass
// down by inheritance (fonts, colours, line height) and, being !important, wins over the host
// page's own !important rules for the host element, so the page cannot hide or restyle the widget
// by accident (what `:host` sets after `all` needs !important too). Nothing here reaches the page.
export const css = `
:host {
  all: initial !important;
  display: block !important;
  position: fixed !important;
  right: 16px !important;
  bottom: 16px !important;
  left: auto !important;
  top: auto !important;
  z-index: 2147483000 !important;
  visibility: visible !important;
  opacity: 1 !important;
  font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif !important;
  color: #1d2330 !important;
}
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
.root { display: flex; flex-direction: column; align-items: flex-end; gap: 10px; }
button, input { font: inherit; color: inherit; }
button {
  cursor: pointer; border: 1px solid #1f5fbf; background: #fff; color: #1f5fbf;
  border-radius: 8px; padding: 10px 14px; min-height: 44px;
}
button.primary, #launcher { background: #1f5fbf; color: #fff; }
button:focus-visible, input:focus-visible { outline: 3px solid #f5b400; outline-offset: 2px; }
button[disabled] { opacity: 0.6; cursor: progress; }
#launcher { border-radius: 999px; padding: 12px 20px; box-shadow: 0 4px 14px rgba(0,0,0,.25); font-weight: 600; }
.card {
  width: 340px; max-width: calc(100vw - 32px); background: #fff; border-radius: 12px;
  box-shadow: 0 8px 30px rgba(0,0,0,.25); padding: 16px; border: 1px solid #d8dde6;
}
header { display: flex; align-items: center; justify-content: space-between; gap: 8px; margin-bottom: 6px; }
h2 { font-size: 17px; margin: 0; }
#close, #invitation-dismiss { border: none; background: transparent; color: #4a5263; padding: 6px 10px; }
#availability { margin: 0 0 12px; color: #3a4252; }
.options { display: flex; flex-direction: column; gap: 8px; }
form { display: flex; flex-direction: column; gap: 8px; }
label, legend { font-weight: 600; }
fieldset { border: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 6px; }
.slot { display: flex; align-items: center; gap: 8px; font-weight: 400; min-height: 36px; }
#slots { display: flex; flex-direction: column; gap: 4px; max-height: 40vh; overflow-y: auto; }
input[type=tel] { border: 1px solid #8b93a3; border-radius: 8px; padding: 10px; min-height: 44px; width: 100%; background: #fff; }
input[aria-invalid=true] { border-color: #b3261e; }
.hint { margin: 0; font-size: 13px; color: #5a6273; }
.row { display: flex; gap: 8px; justify-content: flex-end; flex-wrap: wrap; }
#result { margin: 10px 0 0; min-height: 1em; }
#result:empty { display: none; }
#result.error { color: #b3261e; }
#result.success { color: #1b6e2a; }
.bubble { width: 300px; max-width: calc(100vw - 32px); }
.bubble p { margin: 0 0 10px; }
@media (max-width: 480px) {
  :host { right: 8px !important; bottom: 8px !important; }
  .card, .bubble { width: calc(100vw - 16px); max-width: calc(100vw - 16px); }
}
`;
