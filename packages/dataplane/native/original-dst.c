// originalDst(fd): the address a connection was dialled to before an iptables REDIRECT sent it to this
// process (getsockopt SO_ORIGINAL_DST on the accepted socket; conntrack keeps it). Node has no API for it.
// Returns { address, port, family } or null when the socket has no such record (it was not redirected, or
// conntrack does not track it); throws with errno's text on any other failure. N-API: one build serves every
// Node version; built by scripts/build-native.mjs.
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static napi_value throw_errno(napi_env env, const char* what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value original_dst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) {
    napi_throw_type_error(env, NULL, "originalDst(fd): fd is required");
    return NULL;
  }
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "originalDst(fd): fd must be a non-negative integer");
    return NULL;
  }

  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  // IPv4 first: an IPv4 connection accepted on a dual-stack socket is tracked as IPv4.
  int r = getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &len);
  if (r != 0) {
    int err4 = errno;
    len = sizeof ss;
    r = getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &ss, &len);
    if (r != 0) {
      int err6 = errno;
      if (err4 == ENOENT || err6 == ENOENT || err4 == ENOPROTOOPT) {
        napi_value nul;
        napi_get_null(env, &nul);
        return nul;
      }
      return throw_errno(env, "getsockopt(SO_ORIGINAL_DST)", err4);
    }
  }

  char host[INET6_ADDRSTRLEN];
  int port;
  int family;
  if (ss.ss_family == AF_INET) {
    struct sockaddr_in* a = (struct sockaddr_in*)&ss;
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
    family = 4;
  } else if (ss.ss_family == AF_INET6) {
    struct sockaddr_in6* a = (struct sockaddr_in6*)&ss;
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
    family = 6;
  } else {
    napi_value nul;
    napi_get_null(env, &nul);
    return nul;
  }

  napi_value out, v;
  napi_create_object(env, &out);
  napi_create_string_utf8(env, host, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "address", v);
  napi_create_int32(env, port, &v);
  napi_set_named_property(env, out, "port", v);
  napi_create_int32(env, family, &v);
  napi_set_named_property(env, out, "family", v);
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "originalDst", NAPI_AUTO_LENGTH, original_dst, NULL, &fn);
  napi_set_named_property(env, exports, "originalDst", fn);
  return exports;
}
