// Sends records through winston's Http transport (Debian's node-winston) to segd's records route.
// Usage: node winston_client.js PORT TOKEN batch|single ID...
// Prints the ids of the records winston reports as logged (HTTP 200), one a line (in batch mode
// winston reports each batch by its first record), then "failed N" for the requests it reports
// failed, and exits.
const winston = require('winston');

const [port, token, mode, ...ids] = process.argv.slice(2);
const transport = new winston.transports.Http({
  host: '127.0.0.1', port: Number(port), path: '/v1/streams/app/records',
  auth: { username: 'winston', password: token },
  batch: mode === 'batch', batchCount: 10, batchInterval: 100,
});
const logged = [];
let answered = 0;
let failed = 0;
transport.on('logged', info => { (Array.isArray(info) ? info : [info]).forEach(i => logged.push(i.id)); answered += 1; });
transport.on('warn', () => { answered += 1; failed += 1; });
const logger = winston.createLogger({ format: winston.format.combine(winston.format.timestamp(), winston.format.json()), transports: [transport] });
ids.forEach((id, k) => setTimeout(() => logger.info(`record ${id}`, { id }), mode === 'batch' ? 0 : k * 20));
const expected = mode === 'batch' ? Math.ceil(ids.length / 10) : ids.length;
const timer = setInterval(() => {
  if (answered >= expected) {
    clearInterval(timer);
    process.stdout.write(logged.join('\n') + `\nfailed ${failed}\n`);
    process.exit(0);
  }
}, 50);
