src/main.js
