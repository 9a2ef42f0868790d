// The key under which the gateway remembers a token check (media-handler.conf.template,
// /_gateway_auth/media): the SHA-256 of the Authorization header, never the header itself, since
// nginx writes each cache entry's key into its file. Empty without the header: nothing is kept.
const crypto = require('crypto');

function digest(r) {
    const authorization = r.headersIn.Authorization;
    return authorization ? crypto.createHash('sha256').update(authorization).digest('hex') : '';
}

export default { digest };
