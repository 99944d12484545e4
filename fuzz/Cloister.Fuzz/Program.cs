using Cloister.Fuzz.Harness;
using SharpFuzz;

const string Usage = """
    usage: Cloister.Fuzz TARGET                  run TARGET under afl-fuzz (input on standard input)
           Cloister.Fuzz replay TARGET PATH...   run saved inputs (files or folders), report crashes and hangs
           Cloister.Fuzz seed CORPUS_DIR         write every target's seed inputs to CORPUS_DIR/TARGET/
           Cloister.Fuzz list                    name and describe the targets
    """;

switch (args)
{
    case ["list"]:
        foreach (var target in Targets.All)
        {
            Console.WriteLine($"{target.Name,-22} {target.Summary}");
        }

        return 0;

    case ["seed", var corpus]:
        var sources = SeedSources.Locate(AppContext.BaseDirectory);
        foreach (var target in Targets.All)
        {
            var folder = Directory.CreateDirectory(Path.Combine(corpus, target.Name));
            foreach (var seed in target.Seeds(sources))
            {
                File.WriteAllBytes(Path.Combine(folder.FullName, seed.Name), seed.Bytes);
            }
        }

        return 0;

    case ["replay", var name, .. var paths] when paths.Length > 0:
        return Targets.Find(name) is { } replayed ? Math.Min(Replay.Run(replayed, paths, Console.Out), 1) : UnknownTarget(name);

    case [var name] when Targets.Find(name) is { } fuzzed:
        // Out of process: a stack overflow or a hang kills only the child, which SharpFuzz restarts, so afl-fuzz
        // records the input instead of losing its fork server.
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            fuzzed.Run(buffer.ToArray());
        });
        return 0;

    case [var name] when !name.StartsWith('-'):
        return UnknownTarget(name);

    default:
        Console.Error.WriteLine(Usage);
        return 2;
}

static int UnknownTarget(string name)
{
    Console.Error.WriteLine($"Cloister.Fuzz: unknown target '{name}'; `Cloister.Fuzz list` names them");
    return 2;
}
