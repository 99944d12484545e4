namespace Cloister.Kms.Tests;

// PLACEHOLDER (contract commit): removed by the first real test in this project.
internal static class Placeholder;
