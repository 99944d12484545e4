namespace Cloister.Cli;

internal static class Program
{
    private static int Main(string[] args) => CloisterCli.Run(args);
}
