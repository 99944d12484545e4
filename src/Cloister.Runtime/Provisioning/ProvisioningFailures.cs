using System.Text.Json;

namespace Cloister.Runtime.Provisioning;

/// <summary>How the host and the enclave word what went wrong talking to a provisioner: one line each, never a body quoted whole.</summary>
public static class ProvisioningFailures
{
    /// <summary>The <c>error</c> of a <see cref="ProvisioningError"/> body, or a description of a body that is not one.</summary>
    /// <param name="body">An answer's body.</param>
    /// <returns>One line.</returns>
    public static string ErrorOf(ReadOnlySpan<byte> body)
    {
        try
        {
            if (JsonSerializer.Deserialize(body, ProvisioningJson.Default.ProvisioningError) is { } error)
            {
                return error.Error.ReplaceLineEndings(" ");
            }
        }
        catch (JsonException)
        {
            // Not the error format: described below.
        }

        return $"({body.Length} bytes that are not {{\"error\"}})";
    }

    /// <summary>An exception's message with its innermost cause's when that adds something (HttpClient's own is generic).</summary>
    /// <param name="exception">The failure.</param>
    /// <returns>One line.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is <see langword="null"/>.</exception>
    public static string OneLine(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var innermost = exception;
        while (innermost.InnerException is { } inner)
        {
            innermost = inner;
        }

        var text = innermost == exception || exception.Message.Contains(innermost.Message, StringComparison.Ordinal)
            ? exception.Message
            : $"{exception.Message} ({innermost.Message})";
        return text.ReplaceLineEndings(" ");
    }
}
