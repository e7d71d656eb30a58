// Applies the chosen colour theme before the first paint (no light flash in a dark setup).
// A classic script in <head>: it runs before the body is drawn. The choice is mirrored in
// localStorage by src/theme.ts (the setting `ui.theme` is the lasting copy on the server).
(function () {
  var root = document.documentElement;
  var choice = null;
  try {
    choice = window.localStorage.getItem('atelier.theme');
  } catch (e) {
    choice = null; // Storage refused (private mode): follow the system.
  }
  var dark = choice === 'dark' || (choice !== 'light' && !!window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches);
  root.setAttribute('data-theme', dark ? 'dark' : 'light');
  root.style.colorScheme = dark ? 'dark' : 'light';
})();
