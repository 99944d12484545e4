namespace Cloister.Encryption.Ciphertexts;

/// <summary>Every way decrypting a Cloister ciphertext (or a JSON document holding some) can fail.</summary>
public enum CiphertextFailure
{
    /// <summary>The bytes or text are not a ciphertext: bad base64url, too short, or a field out of place.</summary>
    Malformed,

    /// <summary>The format version is not one this build reads.</summary>
    UnsupportedVersion,

    /// <summary>The algorithm byte names no algorithm of the format.</summary>
    UnsupportedAlgorithm,

    /// <summary>The plaintext kind byte names no kind of the format.</summary>
    UnsupportedKind,

    /// <summary>The key id is another deployment's: the ciphertext was made for an enclave of another deployment.</summary>
    OtherDeployment,

    /// <summary>The key id is this deployment's but the key version is not one the enclave holds.</summary>
    UnknownKeyVersion,

    /// <summary>Authentication failed: a bit of the ciphertext, its header or its tag was changed, or it is bound to another deployment name.</summary>
    Tampered,

    /// <summary>The ciphertext is of a form the request cannot hold: a whole-body (bytes) ciphertext inside JSON, or a JSON leaf as a whole body.</summary>
    WrongForm,

    /// <summary>The JSON document holding ciphertexts does not parse.</summary>
    InvalidJson,
}
