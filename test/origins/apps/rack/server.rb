# Rack 2.2 (Debian's ruby-rack) with Rack::MethodOverride in front of a minimal router: Rack routes nothing
# itself, so the router below picks a handler by REQUEST_METHOD (as MethodOverride left it) and PATH_INFO.
require_relative '../ruby-serve'

ROUTES = [[%r{\A/orders(?:/[^/]+)?\z}, 'orders'], [%r{\A/reports/[^/]+\z}, 'reports']].freeze

def handler(route, method)
  lambda do |env|
    headers = served_headers(route, method, env['PATH_INFO'], env['HTTP_X_AUTHGEAR_USER_ID'])
    [200, headers, ["#{route} #{method}\n"]]
  end
end

HANDLERS = ROUTES.to_h { |_, route| [route, ROUTE_METHODS.to_h { |method| [method, handler(route, method)] }] }

router = lambda do |env|
  route = ROUTES.find { |pattern, _| pattern.match?(env['PATH_INFO']) }&.last
  chosen = route && HANDLERS[route][env['REQUEST_METHOD']]
  (chosen || handler('other', env['REQUEST_METHOD'])).call(env)
end

serve(Rack::Builder.new do
  use Rack::MethodOverride if ENV.fetch('ORIGIN_METHOD_OVERRIDE', 'on') == 'on'
  run router
end)
