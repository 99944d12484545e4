namespace Cloister.Attestation.Nsm;

/// <summary>
/// The NSM's error codes (reference/eif-nsm-spec.md §5.2). On the wire only the member's name travels,
/// as a CBOR text string; the numeric values are those of the C ABI of <c>nsm-lib</c>.
/// </summary>
public enum NsmErrorCode
{
    /// <summary>No error.</summary>
    Success = 0,

    /// <summary>An argument of the request is invalid.</summary>
    InvalidArgument = 1,

    /// <summary>The PCR index is out of range.</summary>
    InvalidIndex = 2,

    /// <summary>The response does not correspond to the request.</summary>
    InvalidResponse = 3,

    /// <summary>The PCR is locked and the request would have modified it.</summary>
    ReadOnlyIndex = 4,

    /// <summary>The request is unknown or malformed.</summary>
    InvalidOperation = 5,

    /// <summary>The response does not fit the caller's buffer.</summary>
    BufferTooSmall = 6,

    /// <summary>The request is larger than the NSM accepts (4096 bytes).</summary>
    InputTooLarge = 7,

    /// <summary>The NSM failed internally.</summary>
    InternalError = 8,
}
