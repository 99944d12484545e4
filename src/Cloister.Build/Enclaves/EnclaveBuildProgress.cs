namespace Cloister.Build.Enclaves;

/// <summary>The steps of a build, in order.</summary>
public enum EnclaveBuildStage
{
    /// <summary>Fetching and verifying the image's manifest and config.</summary>
    ResolvingImage,

    /// <summary>Reading, verifying and applying one layer.</summary>
    ApplyingLayer,

    /// <summary>Writing the bootstrap and customer ramdisks.</summary>
    WritingRamdisks,

    /// <summary>Writing and measuring the EIF.</summary>
    WritingImage,
}

/// <summary>A progress report: the stage, which item of how many, and the bytes done so far within it.</summary>
/// <param name="Stage">The step.</param>
/// <param name="Item">1-based item within the stage (the layer number), or 0.</param>
/// <param name="Items">How many items the stage has, or 0.</param>
/// <param name="Bytes">Bytes processed within the item so far.</param>
/// <param name="Description">What is being worked on, e.g. the layer's digest.</param>
public sealed record EnclaveBuildProgress(EnclaveBuildStage Stage, int Item, int Items, long Bytes, string Description);
