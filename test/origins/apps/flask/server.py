"""Flask (Debian's python3-flask) with the method-override WSGI middleware from Flask's own documentation
("Adding HTTP Method Overrides"), copied as the documentation prints it, served by Werkzeug's threaded server."""
import os
from urllib.parse import quote

from flask import Flask, request
from werkzeug.serving import make_server


class HTTPMethodOverrideMiddleware(object):
    allowed_methods = frozenset([
        'GET',
        'HEAD',
        'POST',
        'DELETE',
        'PUT',
        'PATCH',
        'OPTIONS'
    ])
    bodyless_methods = frozenset(['GET', 'HEAD', 'OPTIONS', 'DELETE'])

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        method = environ.get('HTTP_X_HTTP_METHOD_OVERRIDE', '').upper()
        if method in self.allowed_methods:
            environ['REQUEST_METHOD'] = method
        if method in self.bodyless_methods:
            environ['CONTENT_LENGTH'] = '0'
        return self.app(environ, start_response)


METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

app = Flask(__name__)
if os.environ.get('ORIGIN_METHOD_OVERRIDE', 'on') == 'on':
    app.wsgi_app = HTTPMethodOverrideMiddleware(app.wsgi_app)
# Flask answers OPTIONS itself unless told not to; each OPTIONS handler below is the app's own.
app.config['PROVIDE_AUTOMATIC_OPTIONS'] = False


def answer(route, method):
    headers = {
        'x-served-route': route,
        'x-served-method': method.upper(),
        'x-served-path': quote(request.path, safe="-_.!~*'()"),
        'x-served-user': request.headers.get('x-authgear-user-id', '-'),
    }
    return f'{route} {method}\n', 200, headers


def handler(route, method):
    def view(**_params):
        return answer(route, method)
    return view


for route, rules in [('orders', ['/orders/<id>', '/orders']), ('reports', ['/reports/<id>'])]:
    for method in METHODS:
        for rule in rules:
            app.add_url_rule(rule, f'{route}_{method}_{rule}', handler(route, method), methods=[method],
                             provide_automatic_options=False)


@app.errorhandler(404)
@app.errorhandler(405)
def fallback(_error):
    return answer('other', request.method)


server = make_server('127.0.0.1', 0, app, threaded=True)
print(f'LISTENING {server.server_port}', flush=True)
server.serve_forever()
