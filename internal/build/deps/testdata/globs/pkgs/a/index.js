pkgs/a/index.js
