namespace Cloister.Build.Eif;

/// <summary>The CPU architecture recorded in bit 0 of the EIF header flags.</summary>
public enum EifArchitecture
{
    /// <summary>x86_64 (flag bit 0 clear).</summary>
    X64 = 0,

    /// <summary>aarch64 (flag bit 0 set).</summary>
    Arm64 = 1,
}
