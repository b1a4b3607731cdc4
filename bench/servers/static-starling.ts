// Starling serving STATIC_DIR under /static through StaticFiles (the core sends the file: pathsend).
import { Starling } from '../../src/applications.ts';
import { Mount } from '../../src/routing.ts';
import { StaticFiles } from '../../src/staticfiles.ts';
import { serve } from '../../src/server.ts';

const directory = process.env.STATIC_DIR;
if (!directory) throw new Error('STATIC_DIR is not set');
const app = new Starling({ routes: [new Mount('/static', { app: new StaticFiles({ directory }) })] });
const server = await serve(app, { port: Number(process.env.PORT ?? 0), accessLog: false, lifespan: 'off' });
console.log(`READY ${server.port}`);
process.once('SIGINT', () => void server.close().then(() => process.exit(0)));
