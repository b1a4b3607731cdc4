// Peer: Fastify + @fastify/static (default options) serving STATIC_DIR under /static.
import Fastify from 'fastify';
import fastifyStatic from '@fastify/static';

const root = process.env.STATIC_DIR;
if (!root) throw new Error('STATIC_DIR is not set');
const app = Fastify({ logger: false });
await app.register(fastifyStatic, { root, prefix: '/static/' });
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
console.log(`READY ${new URL(address).port}`);
