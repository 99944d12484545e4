using Cloister.Build.Images;
using Cloister.Build.Images.Registry;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Build.Tests.Images;

/// <summary>
/// Bearer tokens honour their life (Docker's token spec: <c>expires_in</c>, 60 s by default, from <c>issued_at</c>):
/// a token-protected registry in front of a real docker-registry judges them by a fake clock the client shares.
/// </summary>
[Collection(RegistryFixtureGroup.Name)]
public sealed class RegistryTokenTests(RegistryFixture fixture) : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private LoopbackProxy? _proxy;

    private LoopbackProxy Proxy => _proxy!;

    public async Task InitializeAsync()
    {
        _proxy = await LoopbackProxy.StartAsync(fixture.Address);
        Proxy.RequireToken = true;
        Proxy.Clock = _clock;
    }

    public async Task DisposeAsync() => await Proxy.DisposeAsync();

    [Fact]
    public async Task A_token_is_kept_for_its_life_and_replaced_before_it_expires_without_a_401()
    {
        Proxy.ExpiresIn = "60";
        using var source = Source();

        var image = await source.ResolveAsync();
        Assert.Equal((1, 1), (Tokens(), Proxy.Refusals));

        _clock.Advance(TimeSpan.FromSeconds(45));
        await LayerContents.ReadAsync(image.Layers[0]);
        Assert.Equal(1, Tokens());

        // 55 s: within 10 s of expiring, so replaced before the request.
        _clock.Advance(TimeSpan.FromSeconds(10));
        await LayerContents.ReadAsync(image.Layers[1]);
        Assert.Equal((2, 1), (Tokens(), Proxy.Refusals));

        _clock.Advance(TimeSpan.FromMinutes(10));
        await source.ResolveAsync();
        Assert.Equal((3, 1), (Tokens(), Proxy.Refusals));
    }

    /// <summary>
    /// Without <c>expires_in</c> a token lives 60 s (the Docker token spec's default); one issued 240 s before it was
    /// asked for with <c>expires_in: 300</c> has the same 60 s left. Either is replaced 10 s before it ends.
    /// </summary>
    [Theory]
    [InlineData(null, 0)]
    [InlineData("300", 240)]
    public async Task A_token_is_replaced_ten_seconds_before_the_end_of_its_remaining_life(string? expiresIn, int issuedSecondsAgo)
    {
        Proxy.ExpiresIn = expiresIn;
        Proxy.IssuedAgo = issuedSecondsAgo == 0 ? null : TimeSpan.FromSeconds(issuedSecondsAgo);
        using var source = Source();

        await source.ResolveAsync();
        _clock.Advance(TimeSpan.FromSeconds(49));
        await source.ResolveAsync();
        Assert.Equal(1, Tokens());

        _clock.Advance(TimeSpan.FromSeconds(1));
        await source.ResolveAsync();
        Assert.Equal((2, 1), (Tokens(), Proxy.Refusals));
    }

    [Fact]
    public async Task A_short_lived_token_is_replaced_at_half_its_life()
    {
        Proxy.ExpiresIn = "4";
        using var source = Source();

        await source.ResolveAsync();
        _clock.Advance(TimeSpan.FromSeconds(1.9));
        await source.ResolveAsync();
        Assert.Equal(1, Tokens());

        _clock.Advance(TimeSpan.FromSeconds(0.1));
        await source.ResolveAsync();
        Assert.Equal((2, 1), (Tokens(), Proxy.Refusals));
    }

    [Fact]
    public async Task A_revoked_token_is_replaced_after_one_401_and_a_second_401_is_the_answer()
    {
        using var source = Source();
        var image = await source.ResolveAsync();

        Proxy.RevokeTokens();
        await LayerContents.ReadAsync(image.Layers[0]);
        Assert.Equal((2, 2), (Tokens(), Proxy.Refusals));

        Proxy.RejectTokens = true;
        var error = await Assert.ThrowsAsync<ImageSourceException>(() => LayerContents.ReadAsync(image.Layers[1]));
        Assert.Equal(ImageSourceError.Unauthorized, error.Error);
        Assert.Contains("HTTP 401", error.Message, StringComparison.Ordinal);
        Assert.Equal((3, 4), (Tokens(), Proxy.Refusals));
    }

    [Theory]
    [InlineData("\"60\"", "string")]
    [InlineData("-5", "number")]
    [InlineData("1.5", "number")]
    public async Task An_expires_in_that_is_not_a_positive_whole_number_is_malformed(string expiresIn, string kind)
    {
        Proxy.ExpiresIn = expiresIn;
        using var source = Source();

        var error = await Assert.ThrowsAsync<ImageSourceException>(() => source.ResolveAsync());

        Assert.Equal(ImageSourceError.Malformed, error.Error);
        Assert.Contains($"field 'expires_in' must be a positive whole number of seconds, not {kind}", error.Message, StringComparison.Ordinal);
    }

    private RegistryImageSource Source() =>
        new(ImageReference.Parse($"{Proxy.Address}/cloister/sample:v1"), new RegistryOptions(fixture.NewOptions().CacheDirectory) { Clock = _clock });

    private int Tokens() => Proxy.CountRequests("GET /token?");
}
