/**
 * The server layer: runs ASGI apps on the native core. The framework never imports from here; the
 * package entry point and the TestClient's native transport do.
 */
export { serve, type ServeOptions, type Server } from './serve.ts';
export { loadAddon } from './native.ts';
