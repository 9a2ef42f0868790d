import { defineConfig } from "vite";

// Preact's JSX through esbuild (no Babel, no plugin): `h` and Fragment come from preact.
export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    target: "es2020",
    // The polyfill is only for browsers without modulepreload; every supported one has it.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0, // data: URLs would need a looser CSP for fonts and scripts
    sourcemap: false,
  },
  server: {
    // `npm run dev`: the API through a gateway started by ./run_with_gateway.sh.
    proxy: { "/api": process.env.GATEWAY_URL || "http://localhost:3000" },
  },
  test: {
    environment: "happy-dom",
    include: ["tests/**/*.test.{js,jsx}"],
    restoreMocks: true,
  },
});
