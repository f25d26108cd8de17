# Serves a Rack app on WEBrick (Debian's ruby-webrick, through Rack's own handler) on a free loopback port,
# prints the line the harness waits for, and stops on SIGTERM.
require 'erb'
require 'rack'
require 'rack/handler/webrick'
require 'webrick'

ROUTE_METHODS = %w[GET HEAD POST PUT PATCH DELETE OPTIONS].freeze

def served_headers(route, method, path, user)
  {
    'x-served-route' => route,
    'x-served-method' => method.upcase,
    'x-served-path' => ERB::Util.url_encode(path),
    'x-served-user' => user || '-'
  }
end

def serve(app)
  server = WEBrick::HTTPServer.new(
    BindAddress: '127.0.0.1', Port: 0, AccessLog: [], Logger: WEBrick::Log.new($stderr, WEBrick::Log::WARN)
  )
  server.mount '/', Rack::Handler::WEBrick, app
  trap('TERM') { server.shutdown }
  $stdout.puts "LISTENING #{server.listeners.first.addr[1]}"
  $stdout.flush
  server.start
end
