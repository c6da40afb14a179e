import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// `npm run dev` proxies the API to a running `ddrm serve` (DDRM_API, default :8080), so the
// app is always same-origin with the API, as `ddrm serve --web-dir web/dist` serves it.
const api = process.env.DDRM_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [svelte()],
  build: { target: 'es2022', sourcemap: false },
  server: { proxy: { '/v1': api, '/openapi.json': api } },
});
