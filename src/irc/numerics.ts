/**
 * The IRC numerics the front-end sends (RFC 1459/2812 and the modern IRC client
 * protocol's names, IRCv3 for MONITOR and HELP), as named constants: `src/irc/irc.ts`
 * writes `session.reply(ERR_NEEDMOREPARAMS, …)`, never a bare number.
 *
 * @module
 */

// Registration and the server's greeting
export const RPL_WELCOME = "001";
export const RPL_YOURHOST = "002";
export const RPL_CREATED = "003";
export const RPL_MYINFO = "004";
export const RPL_ISUPPORT = "005";

// Replies
export const RPL_UMODEIS = "221";
export const RPL_YOUREOPER = "381";
export const RPL_LUSERCLIENT = "251";
export const RPL_LUSERUNKNOWN = "253";
export const RPL_LUSERCHANNELS = "254";
export const RPL_LUSERME = "255";
export const RPL_LOCALUSERS = "265";
export const RPL_GLOBALUSERS = "266";

export const RPL_AWAY = "301";
export const RPL_USERHOST = "302";
export const RPL_ISON = "303";
export const RPL_UNAWAY = "305";
export const RPL_NOWAWAY = "306";
export const RPL_WHOISUSER = "311";
export const RPL_WHOISSERVER = "312";
export const RPL_ENDOFWHO = "315";
export const RPL_ENDOFWHOIS = "318";
export const RPL_WHOISACCOUNT = "330";
export const RPL_WHOISCHANNELS = "319";
export const RPL_LISTSTART = "321";
export const RPL_LIST = "322";
export const RPL_LISTEND = "323";
export const RPL_CHANNELMODEIS = "324";
export const RPL_NOTOPIC = "331";
export const RPL_TOPIC = "332";
export const RPL_TOPICWHOTIME = "333";
export const RPL_VERSION = "351";
export const RPL_WHOREPLY = "352";
export const RPL_NAMREPLY = "353";
export const RPL_WHOSPCRPL = "354";
export const RPL_ENDOFNAMES = "366";
export const RPL_INVITING = "341";
export const RPL_INVEXLIST = "346";
export const RPL_ENDOFINVEXLIST = "347";
export const RPL_EXCEPTLIST = "348";
export const RPL_ENDOFEXCEPTLIST = "349";
export const RPL_BANLIST = "367";
export const RPL_CREATIONTIME = "329";
export const RPL_WHOISOPERATOR = "313";
export const RPL_WHOWASUSER = "314";
export const RPL_WHOISIDLE = "317";
export const RPL_ENDOFWHOWAS = "369";
export const ERR_WASNOSUCHNICK = "406";
export const RPL_ENDOFBANLIST = "368";
export const RPL_INFO = "371";
export const RPL_ENDOFINFO = "374";
export const RPL_WHOISHOST = "378";
export const RPL_TIME = "391";

// Errors
export const ERR_NOSUCHNICK = "401";
export const ERR_NOSUCHCHANNEL = "403";
export const ERR_CANNOTSENDTOCHAN = "404";
export const ERR_TOOMANYCHANNELS = "405";
export const ERR_TOOMANYTARGETS = "407";
export const ERR_NOORIGIN = "409";
export const ERR_INVALIDCAPCMD = "410";
export const ERR_NORECIPIENT = "411";
export const ERR_NOTEXTTOSEND = "412";
export const ERR_INPUTTOOLONG = "417";
export const ERR_UNKNOWNCOMMAND = "421";
export const ERR_NOMOTD = "422";
export const ERR_NONICKNAMEGIVEN = "431";
export const ERR_ERRONEUSNICKNAME = "432";
export const ERR_NICKNAMEINUSE = "433";
export const ERR_USERNOTINCHANNEL = "441";
export const ERR_NOTONCHANNEL = "442";
export const ERR_CHANNELISFULL = "471";
export const ERR_UNKNOWNMODE = "472";
export const ERR_INVITEONLYCHAN = "473";
export const ERR_BANNEDFROMCHAN = "474";
export const ERR_BADCHANNELKEY = "475";
export const ERR_NOTREGISTERED = "451";
export const ERR_NEEDMOREPARAMS = "461";
export const ERR_ALREADYREGISTERED = "462";
export const ERR_BADCHANNAME = "479";
export const ERR_CHANOPRIVSNEEDED = "482";
export const ERR_USERONCHANNEL = "443";
export const ERR_INVALIDMODEPARAM = "696";
/** A channel's ban list is full. */
export const ERR_BANLISTFULL = "478";

export const ERR_PASSWDMISMATCH = "464";
/** Refused (or disconnected) by a kline: ERROR follows. */
export const ERR_YOUREBANNEDCREEP = "465";
export const ERR_NOPRIVILEGES = "481";
export const ERR_NOOPERHOST = "491";
export const ERR_UMODEUNKNOWNFLAG = "501";
export const ERR_USERSDONTMATCH = "502";
export const ERR_HELPNOTFOUND = "524";

// IRCv3: HELP and MONITOR
export const RPL_HELPSTART = "704";
export const RPL_HELPTXT = "705";
export const RPL_ENDOFHELP = "706";
export const RPL_MONONLINE = "730";
export const RPL_MONOFFLINE = "731";
export const RPL_MONLIST = "732";
export const RPL_ENDOFMONLIST = "733";
export const ERR_MONLISTFULL = "734";

/** Every numeric, for a reply's type. */
export type Numeric =
  | typeof RPL_WELCOME
  | typeof RPL_YOURHOST
  | typeof RPL_CREATED
  | typeof RPL_MYINFO
  | typeof RPL_ISUPPORT
  | typeof RPL_UMODEIS
  | typeof RPL_YOUREOPER
  | typeof ERR_PASSWDMISMATCH
  | typeof ERR_YOUREBANNEDCREEP
  | typeof ERR_NOPRIVILEGES
  | typeof ERR_NOOPERHOST
  | typeof RPL_LUSERCLIENT
  | typeof RPL_LUSERUNKNOWN
  | typeof RPL_LUSERCHANNELS
  | typeof RPL_LUSERME
  | typeof RPL_LOCALUSERS
  | typeof RPL_GLOBALUSERS
  | typeof RPL_AWAY
  | typeof RPL_USERHOST
  | typeof RPL_ISON
  | typeof RPL_UNAWAY
  | typeof RPL_NOWAWAY
  | typeof RPL_WHOISUSER
  | typeof RPL_WHOISSERVER
  | typeof RPL_ENDOFWHO
  | typeof RPL_ENDOFWHOIS
  | typeof RPL_WHOISCHANNELS
  | typeof RPL_LISTSTART
  | typeof RPL_LIST
  | typeof RPL_LISTEND
  | typeof RPL_CHANNELMODEIS
  | typeof RPL_INVITING
  | typeof RPL_BANLIST
  | typeof RPL_CREATIONTIME
  | typeof RPL_INVEXLIST
  | typeof RPL_ENDOFINVEXLIST
  | typeof RPL_EXCEPTLIST
  | typeof RPL_ENDOFEXCEPTLIST
  | typeof RPL_WHOISOPERATOR
  | typeof RPL_WHOWASUSER
  | typeof RPL_WHOISIDLE
  | typeof RPL_ENDOFWHOWAS
  | typeof ERR_WASNOSUCHNICK
  | typeof ERR_USERNOTINCHANNEL
  | typeof ERR_CHANNELISFULL
  | typeof ERR_UNKNOWNMODE
  | typeof ERR_INVITEONLYCHAN
  | typeof ERR_BANNEDFROMCHAN
  | typeof ERR_BADCHANNELKEY
  | typeof RPL_NOTOPIC
  | typeof RPL_TOPIC
  | typeof RPL_TOPICWHOTIME
  | typeof RPL_VERSION
  | typeof RPL_WHOREPLY
  | typeof RPL_NAMREPLY
  | typeof RPL_WHOSPCRPL
  | typeof RPL_ENDOFNAMES
  | typeof RPL_ENDOFBANLIST
  | typeof RPL_INFO
  | typeof RPL_ENDOFINFO
  | typeof RPL_WHOISHOST
  | typeof RPL_TIME
  | typeof ERR_NOSUCHNICK
  | typeof ERR_NOSUCHCHANNEL
  | typeof ERR_CANNOTSENDTOCHAN
  | typeof ERR_TOOMANYCHANNELS
  | typeof ERR_TOOMANYTARGETS
  | typeof ERR_NOORIGIN
  | typeof ERR_INVALIDCAPCMD
  | typeof ERR_NORECIPIENT
  | typeof ERR_NOTEXTTOSEND
  | typeof ERR_INPUTTOOLONG
  | typeof ERR_UNKNOWNCOMMAND
  | typeof ERR_NOMOTD
  | typeof ERR_NONICKNAMEGIVEN
  | typeof ERR_ERRONEUSNICKNAME
  | typeof ERR_NICKNAMEINUSE
  | typeof ERR_NOTONCHANNEL
  | typeof ERR_NOTREGISTERED
  | typeof ERR_NEEDMOREPARAMS
  | typeof ERR_ALREADYREGISTERED
  | typeof ERR_BADCHANNAME
  | typeof ERR_CHANOPRIVSNEEDED
  | typeof ERR_USERONCHANNEL
  | typeof ERR_INVALIDMODEPARAM
  | typeof ERR_BANLISTFULL
  | typeof ERR_UMODEUNKNOWNFLAG
  | typeof ERR_USERSDONTMATCH
  | typeof ERR_HELPNOTFOUND
  | typeof RPL_HELPSTART
  | typeof RPL_HELPTXT
  | typeof RPL_ENDOFHELP
  | typeof RPL_MONONLINE
  | typeof RPL_MONOFFLINE
  | typeof RPL_MONLIST
  | typeof RPL_ENDOFMONLIST
  | typeof ERR_MONLISTFULL
  | typeof RPL_WHOISACCOUNT
  | typeof RPL_LOGGEDIN
  | typeof RPL_LOGGEDOUT
  | typeof RPL_SASLSUCCESS
  | typeof ERR_SASLFAIL
  | typeof ERR_SASLTOOLONG
  | typeof ERR_SASLABORTED
  | typeof ERR_SASLALREADY
  | typeof RPL_SASLMECHS;

// SASL (IRCv3 sasl-3.1 and 3.2)
export const RPL_LOGGEDIN = "900";
export const RPL_LOGGEDOUT = "901";
export const RPL_SASLSUCCESS = "903";
export const ERR_SASLFAIL = "904";
export const ERR_SASLTOOLONG = "905";
export const ERR_SASLABORTED = "906";
export const ERR_SASLALREADY = "907";
export const RPL_SASLMECHS = "908";
