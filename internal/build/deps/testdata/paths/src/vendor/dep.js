src/vendor/dep.js
