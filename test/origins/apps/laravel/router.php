<?php
/*
 * A Laravel 8 app (Debian's php-laravel-framework) on the path a Laravel app's public/index.php takes:
 * Request::capture() (which enables _method overriding), the Foundation HTTP kernel's handle() (which enables
 * it again), Laravel's Router with one route per method. Configuration bootstrappers are left out: no route
 * or middleware here needs configuration, and nothing they load changes how a request is read or routed.
 */
require '/usr/share/php/Illuminate/autoload.php';

use Illuminate\Contracts\Debug\ExceptionHandler;
use Illuminate\Foundation\Application;
use Illuminate\Foundation\Http\Kernel as HttpKernel;
use Illuminate\Http\Request;
use Illuminate\Http\Response;
use Symfony\Component\HttpKernel\Exception\HttpExceptionInterface;

/** docs/method-override.md's advice for Laravel, which has no setting: refuse a request served as another method. */
final class RefuseMethodOverride
{
    public function handle(Request $request, Closure $next)
    {
        if ($request->getMethod() !== $request->getRealMethod()) {
            abort(405);
        }
        return $next($request);
    }
}

final class OriginKernel extends HttpKernel
{
    protected $bootstrappers = [];
}

/** Laravel's answer to a request its router refuses (404, 405, a bad _method), with the record on it. */
final class OriginExceptions implements ExceptionHandler
{
    public function report(Throwable $e)
    {
    }

    public function shouldReport(Throwable $e)
    {
        return false;
    }

    public function render($request, Throwable $e)
    {
        $status = $e instanceof HttpExceptionInterface ? $e->getStatusCode() : 500;
        try {
            $method = $request->getMethod();
        } catch (Throwable $_) {
            $method = $request->getRealMethod();
        }
        return served($request, 'other', $method, $status);
    }

    public function renderForConsole($output, Throwable $e)
    {
    }
}

function served(Request $request, string $route, string $method, int $status = 200): Response
{
    // Laravel matches routes against the decoded path info (Illuminate\Routing\Matching\UriValidator).
    return new Response("$route $method\n", $status, [
        'x-served-route' => $route,
        'x-served-method' => strtoupper($method),
        'x-served-path' => rawurlencode(rawurldecode($request->getPathInfo())),
        'x-served-user' => $request->headers->get('x-authgear-user-id') ?? '-',
    ]);
}

$app = new Application(__DIR__);
$app->singleton(Illuminate\Contracts\Http\Kernel::class, OriginKernel::class);
$app->singleton(ExceptionHandler::class, OriginExceptions::class);

$router = $app['router'];
$routes = ['orders' => ['/orders/{id}', '/orders'], 'reports' => ['/reports/{id}']];
foreach ($routes as $route => $uris) {
    foreach (['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as $method) {
        foreach ($uris as $uri) {
            $router->addRoute($method, $uri, fn (Request $request) => served($request, $route, $method));
        }
    }
}
$router->any('{any}', fn (Request $request) => served($request, 'other', $request->getMethod()))
    ->where('any', '.*');

$kernel = $app->make(Illuminate\Contracts\Http\Kernel::class);
// ORIGIN_METHOD_OVERRIDE: on (default), setting-off (Laravel has no setting: as on), off (the middleware above).
if (getenv('ORIGIN_METHOD_OVERRIDE') === 'off') {
    $kernel->prependMiddleware(RefuseMethodOverride::class);
}
$response = $kernel->handle($request = Request::capture());
$response->send();
$kernel->terminate($request, $response);
