// MathJax 3 settings for pymdownx.arithmatex (generic mode): typeset only the math spans
// arithmatex marks. The MathJax file itself is served from the site (docs/gen.py copies it
// from the django-static-mathjax package), so equations render offline.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: { ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex" },
};
