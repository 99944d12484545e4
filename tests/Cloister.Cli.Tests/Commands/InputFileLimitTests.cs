using Cloister.Testing;

namespace Cloister.Cli.Tests.Commands;

/// <summary>Files read whole stop at their limit: an endless device is refused after a bounded read, never exhausting memory.</summary>
public sealed class InputFileLimitTests
{
    private static readonly string s_document = AttestationVectors.Get("evervault_2022-10-13_prod.cbor").FullPath;

    public static TheoryData<string[], string> EndlessInputs => new()
    {
        { ["verify-doc", "/dev/zero"], "the document /dev/zero: larger than the 1 MiB limit for it" },
        { ["verify-doc", s_document, "--pcrs", "/dev/zero"], "--pcrs /dev/zero: larger than the 4 MiB limit for it" },
        { ["verify-doc", s_document, "--root", "/dev/zero"], "--root /dev/zero: larger than the 1 MiB limit for it" },
        { ["pcr", "--signing-certificate", "/dev/zero"], "--signing-certificate /dev/zero: larger than the 1 MiB limit for it" },
        { ["pcr", "--input", "/dev/zero"], "--input /dev/zero: not a regular file: it holds more than the 0 bytes its size says" },
    };

    [Theory]
    [MemberData(nameof(EndlessInputs))]
    public void An_endless_input_is_refused_with_one_line(string[] args, string expected)
    {
        CliAssert.OneLineError(CliRunner.Run(args), 1, expected);
    }
}
