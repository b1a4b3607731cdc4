// Starling serving STATIC_DIR under /static through StaticFiles (the core sends the file: pathsend).
import { Mount, Starling, StaticFiles, serve } from '../../dist/index.js';

const directory = process.env.STATIC_DIR;
if (!directory) throw new Error('STATIC_DIR is not set');
const app = new Starling({ routes: [new Mount('/static', { app: new StaticFiles({ directory }) })] });
const server = await serve(app, { port: Number(process.env.PORT ?? 0), accessLog: false, lifespan: 'off' });
console.log(`READY ${server.port}`);
process.once('SIGINT', () => void server.close().then(() => process.exit(0)));
