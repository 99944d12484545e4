/*
 * The test enclave's Unix-socket tool (busybox's nc has no Unix sockets), built static so it runs in any root.
 *   ustream connect PATH   stdin to the socket (then half-close), the socket to stdout, until the socket ends
 *   ustream echo PATH      listen on PATH and echo every connection back until its peer half-closes
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_all(int fd, const char *buffer, ssize_t length)
{
    while (length > 0) {
        ssize_t written = write(fd, buffer, (size_t)length);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buffer += written;
        length -= written;
    }
    return 0;
}

static int relay(int socket_fd)
{
    char buffer[65536];
    int input_open = 1;
    for (;;) {
        struct pollfd fds[2] = {{socket_fd, POLLIN, 0}, {input_open ? 0 : -1, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        if (fds[0].revents) {
            ssize_t n = read(socket_fd, buffer, sizeof buffer);
            if (n <= 0)
                return 0;
            if (write_all(1, buffer, n) < 0)
                return 1;
        }
        if (input_open && fds[1].revents) {
            ssize_t n = read(0, buffer, sizeof buffer);
            if (n <= 0) {
                input_open = 0;
                shutdown(socket_fd, SHUT_WR);
            } else if (write_all(socket_fd, buffer, n) < 0) {
                return 1;
            }
        }
    }
}

static void echo(int connection)
{
    char buffer[65536];
    ssize_t n;
    while ((n = read(connection, buffer, sizeof buffer)) > 0)
        if (write_all(connection, buffer, n) < 0)
            break;
    shutdown(connection, SHUT_WR);
    close(connection);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: ustream connect|echo PATH\n");
        return 2;
    }
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, argv[2], sizeof address.sun_path - 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (strcmp(argv[1], "connect") == 0) {
        if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
            perror(argv[2]);
            return 1;
        }
        return relay(fd);
    }
    unlink(argv[2]);
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, 64) != 0) {
        perror(argv[2]);
        return 1;
    }
    signal(SIGCHLD, SIG_IGN);
    for (;;) {
        int connection = accept(fd, NULL, NULL);
        if (connection < 0)
            continue;
        if (fork() == 0) {
            close(fd);
            echo(connection);
            return 0;
        }
        close(connection);
    }
}
