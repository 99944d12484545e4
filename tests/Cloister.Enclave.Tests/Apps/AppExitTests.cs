using Cloister.Enclave.Apps;

namespace Cloister.Enclave.Tests.Apps;

public sealed class AppExitTests
{
    [Theory]
    [InlineData(0x0000, 0, null, 0)]
    [InlineData(0x0300, 3, null, 3)]
    [InlineData(0xff00, 255, null, 255)]
    [InlineData(0x000f, null, 15, 143)]
    [InlineData(0x0089, null, 9, 137)]
    public void Wait_status_decodes_to_a_code_or_a_signal_and_the_shells_exit_code(int status, int? code, int? signal, int exitCode)
    {
        var exit = AppExit.FromWaitStatus(status);

        Assert.Equal(new AppExit(code, signal), exit);
        Assert.Equal(exitCode, exit.ExitCode);
    }
}
