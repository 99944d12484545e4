namespace Cloister.Build.Manifests;

/// <summary>The commented starter manifest <c>cloister init</c> writes.</summary>
public static class EnclaveManifestTemplate
{
    /// <summary>Renders the starter manifest.</summary>
    /// <param name="name">The enclave's name (a DNS label).</param>
    /// <param name="image">The image reference.</param>
    /// <returns>YAML text that <see cref="EnclaveManifestReader.Parse"/> accepts as it is.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static string Render(string name, string image)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(image);
        return $$"""
            # Cloister enclave manifest. Schema: docs/enclave.schema.json. Unknown keys are errors.
            name: {{name}}

            # oci-layout:PATH[:TAG], docker-archive:PATH (a `docker save` tar), or registry/repo:tag.
            image: {{image}}

            # Override the image's ENTRYPOINT / CMD (exec form) and add environment variables.
            # cmd: ["/app/server", "--port", "8080"]
            # env:
            #   LOG_LEVEL: info

            resources:
              cpus: 2
              memory_mib: 2048

            # Each port the host exposes. `attested` terminates TLS inside the enclave with a certificate that
            # carries the attestation document; clients verify the enclave's PCRs during the handshake.
            ingress:
              - port: 443
                app_port: 8080
                tls: attested
                hostnames: [localhost]

            # Where the app may connect (through the proxy in HTTPS_PROXY). Nothing is allowed unless listed;
            # deny wins. `*` matches one label, `**` one or more; IPs, CIDR blocks and :port work too.
            egress:
              allow: []
              deny: []

            # The local API on 127.0.0.1:9999: POST /attestation-doc returns a fresh attestation document.
            api:
              attestation: true

            # What happens when the app exits: never (the enclave stops), on-failure, always.
            restart: never

            """;
    }
}
