// Peer: Fastify + @fastify/compress (default options: zlib's default level, 6) returning the same object.
import Fastify from 'fastify';
import compress from '@fastify/compress';
import { payload } from './gzip-payload.mjs';

const app = Fastify({ logger: false });
await app.register(compress);
app.get('/json', async () => payload);
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
console.log(`READY ${new URL(address).port}`);
