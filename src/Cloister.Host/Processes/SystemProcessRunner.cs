using System.ComponentModel;
using System.Diagnostics;

namespace Cloister.Host.Processes;

/// <summary>Runs real programs.</summary>
public sealed class SystemProcessRunner : IProcessRunner
{
    /// <inheritdoc/>
    public async Task<ProcessOutput> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(arguments);
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new IOException($"could not start {fileName}");
        }
        catch (Win32Exception ex)
        {
            throw new IOException($"could not start {fileName}: {ex.Message}", ex);
        }

        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            try
            {
                await process.WaitForExitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            return new ProcessOutput(process.ExitCode, await stdout, await stderr);
        }
    }
}
