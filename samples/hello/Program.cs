using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.NetworkInformation;
using System.Runtime.InteropServices;
using Cloister.Samples.Hello;

// The sample enclave app: every endpoint shows one thing the enclave does to an app (user and working directory,
// egress through the supervisor's proxy, the local attestation API, exit codes and signals).
var port = int.TryParse(Environment.GetEnvironmentVariable("PORT"), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed is > 0 and < 65536
    ? parsed
    : 8080;
var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
// One line per request is noise in the enclave's log stream; lifetime events (started, stopping) stay.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

// The default handler reads HTTP_PROXY/HTTPS_PROXY/NO_PROXY: inside the enclave that is the supervisor's egress proxy.
using var egress = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };

// The local API is on loopback inside the enclave, never behind the proxy, whatever NO_PROXY says.
using var localApi = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(20) };
var attestationUrl = new Uri(Environment.GetEnvironmentVariable("CLOISTER_API_URL") ?? "http://127.0.0.1:9999/attestation-doc");

var app = builder.Build();
var exitCode = 0;

// What the app sees of the machine does not change while it runs, and listing interfaces costs a netlink round trip:
// read once, not per request (GET / is what the benchmarks load).
string[] networkInterfaces = [.. NetworkInterface.GetAllNetworkInterfaces().Select(network => network.Name).Order(StringComparer.Ordinal)];
app.MapGet("/", () => Results.Json(
    new Greeting(
        "hello from inside the enclave", Environment.MachineName, Native.GetUserId(), Native.GetGroupId(), Environment.CurrentDirectory,
        Environment.ProcessId, networkInterfaces),
    HelloJsonContext.Default.Greeting));

// A provisioned secret reaches the app as an environment variable; the app shows only its SHA-256, so the demo can
// check it arrived without the value ever leaving the enclave.
app.MapGet("/secret", () => Results.Json(
    new SecretDigest("HELLO_SECRET", Environment.GetEnvironmentVariable("HELLO_SECRET") is { } secret
        ? Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)))
        : null),
    HelloJsonContext.Default.SecretDigest));

app.MapGet("/egress", async (string? url, CancellationToken cancellationToken) =>
{
    if (!Uri.TryCreate(url, UriKind.Absolute, out var target) || target.Scheme is not ("http" or "https"))
    {
        return Results.Json(new EgressFailure(url ?? "", "url must be an absolute http or https URL"), HelloJsonContext.Default.EgressFailure, statusCode: 400);
    }

    try
    {
        using var response = await egress.GetAsync(target, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        // The proxy's refusal (403 for a denied host, 502 when the host refuses) is a plain-HTTP answer, not an exception.
        return response.IsSuccessStatusCode
            ? Results.Json(new EgressResult(target.ToString(), (int)response.StatusCode, body.Length), HelloJsonContext.Default.EgressResult)
            : Results.Json(new EgressRefusal(target.ToString(), (int)response.StatusCode, body.Length, System.Text.Encoding.UTF8.GetString(body)), HelloJsonContext.Default.EgressRefusal, statusCode: 502);
    }
    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
    {
        return Results.Json(new EgressFailure(target.ToString(), ex.Message), HelloJsonContext.Default.EgressFailure, statusCode: 502);
    }
});

app.MapGet("/attestation", async (string? nonce, CancellationToken cancellationToken) =>
{
    byte[] nonceBytes;
    try
    {
        nonceBytes = Convert.FromHexString(nonce ?? "");
    }
    catch (FormatException)
    {
        return Results.Json(new ApiFailure("nonce must be hex"), HelloJsonContext.Default.ApiFailure, statusCode: 400);
    }

    try
    {
        using var response = await localApi.PostAsJsonAsync(attestationUrl, new AttestationRequest(Convert.ToBase64String(nonceBytes)), HelloJsonContext.Default.AttestationRequest, cancellationToken);
        var document = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return response.IsSuccessStatusCode
            ? Results.Json(new AttestationResult(Convert.ToBase64String(document)), HelloJsonContext.Default.AttestationResult)
            : Results.Json(new ApiFailure($"the local API answered {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(document)}"), HelloJsonContext.Default.ApiFailure, statusCode: 502);
    }
    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
    {
        return Results.Json(new ApiFailure($"the local API at {attestationUrl} failed: {ex.Message}"), HelloJsonContext.Default.ApiFailure, statusCode: 502);
    }
});

// The crypto API (manifest api.crypto): a card number arrives encrypted to the deployment (`cloister encrypt`, or
// POST /vault/seal); only the enclave can read it, and the app answers with nothing but its last four digits.
app.MapPost("/vault/seal", (HttpRequest request, CancellationToken cancellationToken) => RelayCryptoAsync("/encrypt", request, card => Results.Bytes(card, "application/json"), cancellationToken));
app.MapPost("/vault/card", (HttpRequest request, CancellationToken cancellationToken) => RelayCryptoAsync("/decrypt", request, plaintext =>
{
    var card = System.Text.Json.JsonSerializer.Deserialize(plaintext, HelloJsonContext.Default.Card);
    var digits = new string([.. (card?.Number ?? "").Where(char.IsAsciiDigit)]);
    return digits.Length < 4
        ? Results.Json(new ApiFailure("the decrypted body has no card number of four or more digits"), HelloJsonContext.Default.ApiFailure, statusCode: 400)
        : Results.Json(new CardSummary(digits[^4..], digits.Length), HelloJsonContext.Default.CardSummary);
}, cancellationToken));

app.MapGet("/crash", (int? code, IHostApplicationLifetime lifetime) =>
{
    exitCode = code ?? 1;
    Console.WriteLine($"hello: crash requested, exiting with {exitCode}");
    // Stopping (rather than Environment.Exit) lets Kestrel finish this response before the process ends.
    lifetime.StopApplication();
    return Results.Text($"exiting with {exitCode}\n");
});

using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Console.WriteLine("hello: got SIGTERM, shutting down gracefully"));
app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine($"hello: listening on http://127.0.0.1:{port} as uid {Native.GetUserId()} in {Environment.CurrentDirectory}"));
app.Lifetime.ApplicationStopped.Register(() => Console.WriteLine("hello: stopped"));

await app.RunAsync();
return exitCode;

// Relays the request's JSON body to the local crypto API and hands a success to `answer`; the API's own errors
// (a tampered ciphertext, another deployment's) come back with their status and reason.
async Task<IResult> RelayCryptoAsync(string path, HttpRequest request, Func<byte[], IResult> answer, CancellationToken cancellationToken)
{
    var url = new Uri(attestationUrl, path);
    try
    {
        using var content = new StreamContent(request.Body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await localApi.PostAsync(url, content, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return response.IsSuccessStatusCode ? answer(body) : Results.Text(System.Text.Encoding.UTF8.GetString(body), "application/json", statusCode: (int)response.StatusCode);
    }
    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
    {
        return Results.Json(new ApiFailure($"the local API at {url} failed: {ex.Message}"), HelloJsonContext.Default.ApiFailure, statusCode: 502);
    }
}
