// Peer: Fastify with default settings.
import Fastify from 'fastify';
const app = Fastify({ logger: false });
app.get('/plaintext', (_req, reply) => reply.type('text/plain').send('Hello, World!'));
app.get('/json', () => ({ message: 'Hello, World!' }));
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
console.log(`READY ${new URL(address).port}`);
