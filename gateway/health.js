// GET /health: the state of every upstream, from each service's own /health/ view (which checks
// its database). 200 when all answer 200; 503 naming the ones that do not.
const UPSTREAMS = ['auth', 'media'];

function describe(reply) {
    let body = null;
    try {
        body = JSON.parse(reply.responseText);
    } catch (e) {
        body = null;
    }
    const state = { status: reply.status === 200 ? 'ok' : 'unavailable', http_status: reply.status };
    if (body && typeof body === 'object') {
        if (body.database) {
            state.database = body.database;
        }
        if (reply.status !== 200 && body.message) {
            state.message = body.message;
        }
    }
    return state;
}

function health(r) {
    const checks = UPSTREAMS.map((name) =>
        r.subrequest('/_gateway_health/' + name, { method: 'GET' }).then(describe, (e) => ({
            status: 'unavailable',
            http_status: 0,
            message: String(e),
        })),
    );
    Promise.all(checks).then((states) => {
        const upstreams = {};
        const down = [];
        UPSTREAMS.forEach((name, i) => {
            upstreams[name] = states[i];
            if (states[i].status !== 'ok') {
                down.push(name);
            }
        });
        let body;
        if (down.length === 0) {
            body = { status: 'ok', upstreams: upstreams };
        } else {
            const message = 'Service unavailable: ' + down.join(', ') + '.';
            body = {
                status: 'unavailable',
                detail: message,
                code: 'upstream_unavailable',
                message: message,
                down: down,
                upstreams: upstreams,
            };
        }
        r.headersOut['Content-Type'] = 'application/json';
        r.headersOut['Cache-Control'] = 'no-store';
        r.return(down.length === 0 ? 200 : 503, JSON.stringify(body) + '\n');
    });
}

export default { health };
