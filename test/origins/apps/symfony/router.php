<?php
/*
 * Symfony 5.4 HttpFoundation (Debian's php-symfony-http-foundation) with `_method` overriding enabled, as a
 * Symfony app enables it (framework.http_method_override), and Symfony Routing's UrlMatcher
 * (php-symfony-routing) matching getPathInfo() for getMethod() with one route per method.
 */
require '/usr/share/php/Symfony/Component/HttpFoundation/autoload.php';
require '/usr/share/php/Symfony/Component/Routing/autoload.php';

use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\Response;
use Symfony\Component\Routing\Exception\ExceptionInterface as RoutingException;
use Symfony\Component\Routing\Matcher\UrlMatcher;
use Symfony\Component\Routing\RequestContext;
use Symfony\Component\Routing\Route;
use Symfony\Component\Routing\RouteCollection;

function served(Request $request, string $route, string $method, int $status = 200): Response
{
    // UrlMatcher::match() matches the decoded path info.
    return new Response("$route $method\n", $status, [
        'x-served-route' => $route,
        'x-served-method' => strtoupper($method),
        'x-served-path' => rawurlencode(rawurldecode($request->getPathInfo())),
        'x-served-user' => $request->headers->get('x-authgear-user-id') ?? '-',
    ]);
}

// ORIGIN_METHOD_OVERRIDE: on (default); setting-off: framework.http_method_override false, which leaves the
// X-HTTP-Method-Override header honoured; off: that, and docs/method-override.md's refusal of a request whose
// getMethod() differs from getRealMethod() (a kernel.request listener in a Symfony app).
$mode = getenv('ORIGIN_METHOD_OVERRIDE') ?: 'on';
if ($mode === 'on') {
    Request::enableHttpMethodParameterOverride();
}
$request = Request::createFromGlobals();

$routes = new RouteCollection();
foreach (['orders' => ['/orders/{id}', '/orders'], 'reports' => ['/reports/{id}']] as $route => $paths) {
    foreach (['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as $method) {
        foreach ($paths as $i => $path) {
            $defaults = ['route' => $route, 'method' => $method];
            $routes->add("$route-$method-$i", new Route($path, $defaults, [], [], '', [], [$method]));
        }
    }
}

try {
    if ($mode === 'off' && $request->getMethod() !== $request->getRealMethod()) {
        served($request, 'other', $request->getMethod(), 405)->prepare($request)->send();
        exit;
    }
    $context = (new RequestContext())->fromRequest($request);
    $match = (new UrlMatcher($routes, $context))->match($request->getPathInfo());
    $response = served($request, $match['route'], $match['method']);
} catch (RoutingException $e) {
    $response = served($request, 'other', $request->getMethod());
} catch (UnexpectedValueException $e) {
    // A _method Symfony refuses (SuspiciousOperationException): a Symfony app answers 400.
    $response = served($request, 'other', $request->getRealMethod(), 400);
}
$response->prepare($request)->send();
