using Cloister.Enclave.Apps;

namespace Cloister.Enclave.Tests.Apps;

public sealed class ImageUserTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cloister-image-user-").FullName;

    public ImageUserTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "etc"));
        File.WriteAllText(Path.Combine(_root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n# comment\nbroken line\nweb:x:33:33::/var/www:/usr/sbin/nologin\napp:x:1000:1000::/home/app:/bin/sh\nodd:x:notanumber:1::/:/bin/sh\n");
        File.WriteAllText(Path.Combine(_root, "etc/group"), "root:x:0:\nweb:x:33:\nstaff:x:50:app,web\naudio:x:29:app\napp:x:1000:\nempty:x:70:\n");
    }

    [Theory]
    [InlineData("", 0u, 0u, new uint[] { 0 })]
    [InlineData("root", 0u, 0u, new uint[] { 0 })]
    [InlineData("app", 1000u, 1000u, new uint[] { 1000, 50, 29 })]
    [InlineData("1000", 1000u, 1000u, new uint[] { 1000, 50, 29 })]
    [InlineData("web:audio", 33u, 29u, new uint[] { 29, 50 })]
    [InlineData("app:70", 1000u, 70u, new uint[] { 70, 50, 29 })]
    [InlineData("4242", 4242u, 0u, new uint[] { 0 })]
    [InlineData("4242:4343", 4242u, 4343u, new uint[] { 4343 })]
    public void Resolves_users_and_groups_like_docker(string user, uint uid, uint gid, uint[] groups)
    {
        var credentials = ImageUser.Resolve(user, _root);

        Assert.Equal(uid, credentials.UserId);
        Assert.Equal(gid, credentials.GroupId);
        Assert.Equal(groups, credentials.Groups);
    }

    [Fact]
    public void Numeric_ids_need_no_files_at_all()
    {
        var scratch = Directory.CreateTempSubdirectory("cloister-scratch-").FullName;
        try
        {
            var credentials = ImageUser.Resolve("7:8", scratch);

            Assert.Equal((7u, 8u), (credentials.UserId, credentials.GroupId));
            Assert.Equal([8u], credentials.Groups);
            Assert.Throws<AppLaunchException>(() => ImageUser.Resolve("app", scratch));
        }
        finally
        {
            Directory.Delete(scratch);
        }
    }

    [Theory]
    [InlineData("nobody", "USER 'nobody': no user 'nobody' in the image's /etc/passwd")]
    [InlineData("app:wheel", "USER 'app:wheel': no group 'wheel' in the image's /etc/group")]
    [InlineData("odd", "USER 'odd': the /etc/passwd entry of 'odd' has no numeric uid and gid")]
    public void Unknown_names_are_refused_with_the_name_and_the_file(string user, string message)
    {
        var ex = Assert.Throws<AppLaunchException>(() => ImageUser.Resolve(user, _root));

        Assert.Equal(message, ex.Message);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("etc/passwd")]
    [InlineData("etc/group")]
    public void An_account_file_linked_to_an_endless_device_is_a_launch_failure_at_its_limit(string file)
    {
        File.Delete(Path.Combine(_root, file));
        File.CreateSymbolicLink(Path.Combine(_root, file), "/dev/zero");

        var ex = Assert.Throws<AppLaunchException>(() => ImageUser.Resolve("app:app", _root));

        Assert.Equal($"USER cannot be resolved: the image's /{file} {Path.Combine(_root, file)}: larger than the 4 MiB limit for it", ex.Message);
    }
}
