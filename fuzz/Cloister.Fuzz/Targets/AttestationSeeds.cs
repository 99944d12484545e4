using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>Real documents of each shape: definite and indefinite maps, optional fields set and null, a mock root.</summary>
internal static class AttestationSeeds
{
    public static IEnumerable<Seed> Documents(SeedSources sources) =>
    [
        sources.FileSeed("tests/vectors/attestation/real/anjuna_2021-03-17_prod.cbor"),
        sources.FileSeed("tests/vectors/attestation/real/anjuna_2024-01-24_debug_full.cbor"),
        sources.FileSeed("tests/vectors/attestation/real/base_2026-01-03_prod_indef.cbor"),
        sources.FileSeed("tests/vectors/attestation/mock-root/oyster_2024-12-13_mockroot.cbor"),
    ];
}
