# Sinatra 3 (Debian's ruby-sinatra) with method_override enabled (Rack::MethodOverride, as `set
# :method_override, true` installs it) and a route per method. Sinatra's `get` also answers HEAD, and is
# registered first, as in an app that declares its GET route before its HEAD route.
require 'sinatra/base'
require_relative '../ruby-serve'

class Origin < Sinatra::Base
  set :method_override, ENV.fetch('ORIGIN_METHOD_OVERRIDE', 'on') == 'on'
  set :show_exceptions, false

  helpers do
    def answer(route, method)
      headers served_headers(route, method, request.path_info, request.env['HTTP_X_AUTHGEAR_USER_ID'])
      "#{route} #{method}\n"
    end
  end

  { 'orders' => ['/orders/:id', '/orders'], 'reports' => ['/reports/:id'] }.each do |route, paths|
    ROUTE_METHODS.each do |method|
      paths.each { |path| send(method.downcase, path) { answer(route, method) } }
    end
  end

  not_found do
    status 200
    answer('other', request.request_method)
  end
end

serve(Origin)
