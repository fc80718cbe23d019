/* udprecv.c: a UDP receiver for the datagram-checkpoint and migration tests — binds (loopback, or ADDR), says "ready", waits for file GO to exist while datagrams queue up (the snapshot or migration lands here), then prints each datagram and its sender until "END". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: udprecv PORT GOFILE [ADDR]\n");
		return 2;
	}
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (argc > 3 && inet_pton(AF_INET, argv[3], &a.sin_addr) != 1) {
		fprintf(stderr, "udprecv: %s: not an IPv4 address\n", argv[3]);
		return 2;
	}
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("bind");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (access(argv[2], F_OK) != 0)
		usleep(50000);
	char buf[256];
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(s, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			perror("recvfrom");
			return 1;
		}
		buf[n] = '\0';
		if (!strcmp(buf, "END"))
			break;
		char who[INET_ADDRSTRLEN] = "?";
		inet_ntop(AF_INET, &from.sin_addr, who, sizeof(who));
		printf("%s from %s\n", buf, from.sin_addr.s_addr == htonl(INADDR_LOOPBACK) ? "loopback" : who);
	}
	return 0;
}
