namespace Cloister.Runtime.Manifest;

/// <summary>
/// Where Cloister's own files are in an enclave's root filesystem. <c>cloister build</c> writes them, the supervisor
/// reads them inside the enclave and the host reads them out of an image: all three take the paths from here.
/// </summary>
public static class EnclavePaths
{
    /// <summary>The directory a build with Cloister's runtime adds to the image: the supervisor, its libraries and the launch spec.</summary>
    public const string Root = "/cloister";

    /// <summary>The launch spec (<see cref="EnclaveLaunchSpec"/>): the validated manifest and the image's run configuration.</summary>
    public const string LaunchSpec = Root + "/enclave.json";
}
