namespace Cloister.Runtime.Nsm;

/// <summary>Why an exchange with the NSM device failed before any CBOR answer came back.</summary>
public enum NsmDeviceError
{
    /// <summary>The request exceeds <see cref="NsmDevice.MaxRequestLength"/> (the driver's <c>EMSGSIZE</c>).</summary>
    InputTooLarge,

    /// <summary>The driver failed the ioctl with another errno.</summary>
    DriverFailure,
}
